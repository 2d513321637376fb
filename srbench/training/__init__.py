"""Training: ``srbench train`` from a YAML config to installed weights with a model card.

Modules: ``config`` (the typed configuration and its YAML files), ``data`` (patch pairs and
held-out images), ``losses`` (the loss terms and the generator's objective), ``build`` (networks,
optimisers, schedules, losses, initial weights), ``loop`` (:func:`~srbench.training.loop.train`
and the steps), ``state`` (what the parts share), ``validation``, ``checkpoint``, ``export`` and
``distributed`` (several processes under torchrun: DistributedDataParallel).
"""
