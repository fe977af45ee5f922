"""charlm: a terminal workbench for character-level language models.

Importing the package is cheap on purpose: TensorFlow is only imported where
training or the Keras backend needs it.
"""

__version__ = "0.1.0"
