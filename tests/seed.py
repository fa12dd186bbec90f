"""The seed notebook's graph specification, unchanged: label keys as names, tuples as refs."""

SEED_GRAPH = {
    "node alpha": {"process": "random choice", "inputs": {"choices": [1.2, 5.4, 6.7]}},
    "node beta": {"process": "random float", "inputs": {"min": -5.0, "max": 5.0}},
    "node a": {"process": "process.python_add",
               "inputs": {"x": ("node alpha", "choice"), "y": 16.5}},
    "node b": {"process": "process.python_add",
               "inputs": {"x": ("node a", "z"), "y": ("node beta", "n")}},
    "node c": {"process": "process.c_divide",
               "inputs": {"a": ("node a", "z"), "b": ("node b", "z")}},
}
