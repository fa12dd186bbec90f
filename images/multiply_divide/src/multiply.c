#include "process.h"

static const char *multiply(double a, double b, double *z)
{
    *z = a * b;
    return 0;
}

int main(void)
{
    return run_process("Multiplication. z = a * b", multiply);
}
