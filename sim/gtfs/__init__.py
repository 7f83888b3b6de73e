"""GTFS in and out: a feed (zip or folder) as one of our network files, and our network and
timetable as a feed.

    from sim.gtfs import import_feed, write_network, export_feed
    net = import_feed("feeds/metro.zip", date="20250301")      # network-file data, checked
    write_network(net, "networks/metro.yaml")                     # YAML with comments
    export_feed(sim.load_network("networks/shanghai_l11.yaml")[0], "l11.zip")
"""

from .export import export_feed
from .export import written_here as is_exported_feed
from .importer import ids_listing, import_feed
from .yamlout import is_imported_network, network_yaml, write_network

__all__ = ["export_feed", "ids_listing", "import_feed", "is_exported_feed", "is_imported_network", "network_yaml", "write_network"]
