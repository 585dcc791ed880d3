/* test_util: helpers the unit tests share. Include it after <cmocka.h>:
 * a helper fails the running test, through cmocka, when it cannot do its
 * job. */
#ifndef HP_TEST_UTIL_H
#define HP_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct blob {
    uint8_t *data; /* malloc'd, with a NUL after the last byte */
    size_t size;
} blob;

/* The whole file at path (free data when done). */
static inline blob read_file(const char *path)
{
    blob b = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    b.size = (size_t)n;
    b.data = malloc(b.size + 1);
    assert_non_null(b.data);
    assert_int_equal(fread(b.data, 1, b.size, f), b.size);
    b.data[b.size] = 0;
    fclose(f);
    return b;
}

#endif
