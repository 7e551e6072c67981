// libargon2 (the reference Argon2 implementation, Debian's libargon2-dev): the KDF
// LUKS2 key slots use by default (argon2id, as cryptsetup formats them).
#include <argon2.h>
