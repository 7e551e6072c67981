// zlib's raw inflate, for qcow2's compressed clusters (headerless deflate streams).
#include <zlib.h>
