"""Model building, training and the `charlm-train` CLI.

Import submodules directly; TensorFlow is only imported by ``model`` and
``fit`` and only when their functions run.
"""
