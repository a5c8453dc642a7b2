"""napari plug-in for lesionseg: the viewer side of ``lesionseg serve``.

The image is read here with its full geometry; every prompt the user draws is turned into
world millimetres (LPS) with that geometry and sent to the server, whose masks come back on the
image's own grid. Modules: ``geometry`` (voxel <-> world), ``volume`` (reading, windows),
``prompt_values`` (layers -> platform JSON), ``client`` and ``local_server`` (HTTP),
``lesion_layers`` (one lesion's layers), ``saving`` and ``widget`` (the dock widget).
"""

__version__ = "0.1.0"
