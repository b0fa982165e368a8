"""The wiring layer: the only package that imports from every other layer of SafeTwin.

Layers, low to high (an import may point to its own layer or a lower one, never up; the
contracts in ``pyproject.toml`` are checked by import-linter in ``make test``)::

    substances, errors, background, pdf, logging, version    (leaves)
    plant_models → scenarios → twin → emergency_planner → live_bridge | ui → app

What lives here, one module per job:

* :mod:`.cli` — the ``safetwin`` command and its groups (``plant``, ``demo``, ``bridge``,
  ``consequence``, ``scenario``, ``evacuate``, ``qra``, ``drill``);
* :mod:`.demo` — the main job (twin, store, bridge, simulated plant, API and UI in one process);
* :mod:`.live` — live-mode assembly: the bridge, the simulated plant and the live incident monitor
  whose recommendations go to the API, the site (MQTT) and the control room;
* :mod:`.api` — the API as served: the twin's app plus the routes of the layers above it
  (:mod:`.planner_routes`);
* :mod:`.settings` — the one ``Settings`` (``SAFETWIN_*`` environment, ``safetwin.toml``); the
  layers below get plain config objects built from it;
* :mod:`.notify_channels` — notification channels to the outside (webhook, MQTT);
* :mod:`.drill_records` — recorded drills read back from the store and from MQTT recordings;
* :mod:`.machine` — what the machine can give a CPU-bound run (thread count from the load).
"""
