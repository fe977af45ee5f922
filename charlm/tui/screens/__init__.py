"""The app's screens: main workbench, help, model info, model picker, no-model."""
