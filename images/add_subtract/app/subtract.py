"""Process python_subtract: z = x - y."""

from _protocol import Process, main, number

PROCESS = Process(
    description="Subtraction. z = x - y.",
    inputs={"x": 1.0, "y": 1.0},
    outputs={"z": 1.0},
    compute=lambda given: {"z": number(given, "x") - number(given, "y")},
)

if __name__ == "__main__":
    main(PROCESS)
