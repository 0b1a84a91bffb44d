#ifndef ML_INIT_H
#define ML_INIT_H
/* Once-per-process setup (libcurl); every constructor calls it. mbedTLS 2.28
 * needs no setup for hashing; 4.x would add psa_crypto_init here. */
int ml__init(void);
#endif
