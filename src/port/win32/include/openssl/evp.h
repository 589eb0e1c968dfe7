/* Windows: the one function of OpenSSL's <openssl/evp.h> the project uses (base64 decoding of
 * the flasher stubs), implemented over the system's CryptStringToBinaryA in posix_win32.c.
 * MD5 and SHA-256 come from the system too (src/util/digest_win32.c). */
#ifndef MP_PORT_OPENSSL_EVP_H
#define MP_PORT_OPENSSL_EVP_H

/* Decodes n base64 characters into out; returns the byte count including the bytes the
 * '=' padding stands for (as OpenSSL does), or -1. */
int EVP_DecodeBlock(unsigned char *out, const unsigned char *in, int n);

#endif
