/* mbedtls_config.h — mbedTLS configuration for sshmcp: the library's defaults, less what
 * libssh2's mbedTLS backend never calls. Both mbedTLS and libssh2 are compiled with it (they
 * must agree on struct layouts). Trimmed further only where it measurably shrinks ./sshmcp. */
#include "mbedtls/mbedtls_config_default.h"
