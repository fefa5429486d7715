"""What the world looks like: a street corner generated procedurally from a seed.

A sky with soft clouds, a ring of buildings with window grids, shop signs and rooftop plant,
street lamps, traffic signals, signs and trees, and on the ground roads with lane markings,
zebra crossings, kerbs and paving tiles, painted into an equirectangular panorama
(:mod:`simulators.scene.geometry`). The same seed gives the same panorama, byte for byte, in
every process. Nothing here knows about cameras: :mod:`simulators.scene.lens` samples the
result.

* :mod:`~simulators.scene.world.layout`: where everything stands (plain data, one RNG);
* :mod:`~simulators.scene.world.generate`: the painters run in order, far to near;
* ``sky``, ``ground``, ``backdrop``, ``buildings``, ``furniture``: one painter each;
* :mod:`~simulators.scene.world.raster`: the anti-aliased drawing primitives they share.
"""
