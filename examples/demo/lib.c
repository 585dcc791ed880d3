/* Kept in their own translation unit, as library code is: a compiler that
 * sees a function's body at the call site may inline it or fold its result,
 * and then no patch of the function can change that call. */
#include <stdio.h>
#include <time.h>

#include "shop.h"

int current_year(void)
{
    time_t now = time(NULL);
    return localtime(&now)->tm_year + 1900;
}

int price_with_tax(int cents) { return cents + cents / 5; }

int price_without_tax(int cents) { return cents; }

int send_receipt(int total)
{
    FILE *f = fopen("/nonexistent/mail-queue", "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", total);
    return fclose(f);
}
