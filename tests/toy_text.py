"""YAML text pieces shared by tests that edit the toy network file as text."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NET = (FIXTURES / "toy_net.yaml").read_text(encoding="utf-8")
SCN = (FIXTURES / "toy_scn.yaml").read_text(encoding="utf-8")

_PART = (FIXTURES / "line2.yaml.part").read_text(encoding="utf-8")
EXTRA_STATIONS = _PART.split("# stations:\n")[1].split("# lines:\n")[0]
"""Stations G and H, to insert in the toy network's station list."""
LINE_2 = _PART.split("# lines:\n")[1]
"""Line L2 (G-H), to append to the toy network's line list."""


def toy(tmp_path: Path, net: tuple[str, str] | None = None, scn: tuple[str, str] | None = None,
        scn_extra: str = "") -> Path:
    """The toy files in tmp_path with one replacement in each (old, new); the scenario's path."""
    net_text, scn_text = NET, SCN + scn_extra
    if net:
        assert net[0] in net_text, net[0]
        net_text = net_text.replace(net[0], net[1], 1)
    if scn:
        assert scn[0] in scn_text, scn[0]
        scn_text = scn_text.replace(scn[0], scn[1], 1)
    (tmp_path / "toy_net.yaml").write_text(net_text, encoding="utf-8")
    (tmp_path / "toy_scn.yaml").write_text(scn_text, encoding="utf-8")
    return tmp_path / "toy_scn.yaml"
