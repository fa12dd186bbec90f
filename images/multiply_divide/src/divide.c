#include "process.h"

static const char *divide(double a, double b, double *z)
{
    if (b == 0.0)
        return "division by zero";
    *z = a / b;
    return 0;
}

int main(void)
{
    return run_process("Division. z = a / b", divide);
}
