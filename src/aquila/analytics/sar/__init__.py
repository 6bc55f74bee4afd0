"""SAR ship detection and the synthetic scenes it is tested and trained on."""

from aquila.analytics.sar.synth import Scene, SceneSpec, Ship, synthesize, write_scene

__all__ = ["Scene", "SceneSpec", "Ship", "synthesize", "write_scene"]
