// OpenSSL's EVP interface (libcrypto), for msgr2 secure mode's AES-128-GCM, which
// must stream a frame's pieces through one cipher context (swift-crypto's GCM takes
// one contiguous message and returns a new buffer: two extra copies of every payload).
#include <openssl/evp.h>
// RAND_bytes: volume keys and salts for LUKS headers (RBDCore/Encryption).
#include <openssl/rand.h>
