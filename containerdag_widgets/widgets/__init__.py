"""Jupyter widgets: the registry and the graph as live ipycytoscape views."""

from .graph_widget import GraphWidget
from .output_table import OutputTable
from .registry_widget import RegistryWidget

__all__ = ["GraphWidget", "RegistryWidget", "OutputTable"]

