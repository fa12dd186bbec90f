/* The container process protocol for processes taking two numbers a, b and
 * returning one number z.
 *
 * Empty or whitespace-only stdin: print the description JSON.
 * Otherwise stdin must be one flat JSON object whose values are all numbers;
 * keys "a" and "b" are required, other keys are ignored. The result is
 * printed as {"z": <number>}. Any error: message on stderr, exit status 1.
 */
#ifndef PROCESS_H
#define PROCESS_H

/* Compute z from a and b. Return NULL on success, or an error message. */
typedef const char *(*binary_op)(double a, double b, double *z);

int run_process(const char *description, binary_op op);

#endif
