"""Producers: train teachers, non-distilled and distilled students and export their predictions.

Torch (the ``producers`` extra) is needed here and only here; the audit itself
(`kdbias_audit`) never imports this package. Modules:

- `producers.kd` -- the Hinton distillation loss;
- `producers.models` -- CIFAR ResNets, LeNet-5, any timm model;
- `producers.data` -- CIFAR-10/100 and SVHN from local files, the Trifeature generator;
- `producers.settings` -- the registry of experiment settings;
- `producers.train` -- one run -> one prediction file;
- `producers.sweep` -- teacher, NDS and one DS per temperature over seeds, resumable;
- `producers.gpu` -- the device-resident, bf16, CUDA-graph fast path.
"""

__all__: list[str] = []
