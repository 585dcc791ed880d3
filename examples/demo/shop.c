/* A small program with the usual things tests want to control: the clock,
 * a side effect, and a computation. */
#include <stdio.h>
#include <time.h>

#include "shop.h"

int main(void)
{
    int year = current_year();
    int total = 0;
    for (int item = 1; item <= 3; item++)
        total += price_with_tax(item * 100);
    printf("year:    %d\n", year);
    printf("total:   %d cents\n", total);
    printf("receipt: %s\n", send_receipt(total) == 0 ? "sent" : "FAILED (no network)");
    return 0;
}
