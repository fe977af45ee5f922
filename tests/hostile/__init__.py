"""The attack suite: charlm as a hostile user, a crash or a race would use it (issue 9).

The promise, class by class, and where each is attacked:

1. Output is safe for a terminal
   * a corpus full of escape sequences, C1 controls and bidi overrides: tests/data/test_sanitize.py,
     tests/data/test_corpus.py (dropped and counted), tests/data/test_decode.py
   * a model that emits them: tests/tui/test_cli.py (``--once`` and ``--json`` escape them), the app's
     transcript and panels: tests/tui/test_bugs.py, tests/tui/test_keeping.py
   * names and paths in errors and listings: test_names_and_store_paths.py, test_output_failures.py
2. The store never loses a model: test_store_crashes.py (kill -9 at every point of a save, an
   unfinished save of a live process, two fits of one name, SIGTERM/SIGHUP, Ctrl-C at start-up),
   test_names_and_store_paths.py (an unwritable store is found before training)
3. One bad model folder never breaks the store: test_broken_models.py (every damage to config.json
   and weights.npz we could think of, a 3 GB declared array); nor does a bad file beside them:
   test_broken_user_files.py (the app's settings and history, a search's settings, TF_CONFIG)
4. Every input is validated: test_names_and_store_paths.py (names, markup), test_option_edges.py
   (every edge of every training option), tests/tui/test_cli.py (every edge of every decoding option,
   ``--stop`` escapes), tests/data/test_decode.py and test_formats.py (UTF-16/32, NUL bytes, broken
   subtitles), test_environment.py (every environment variable charlm reads)
5. Bounded resources: test_no_terminal.py (no terminal, a terminal that goes away),
   test_output_failures.py (closed stdout, full disk, broken pipe), test_long_prompt.py,
   test_endless_input.py (/dev/zero and endless pipes on stdin, corpora past the size limit),
   tests/test_tf_quiet.py (no TensorFlow start-up noise)
"""
