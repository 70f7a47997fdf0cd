"""What an instructor runs: the exercise builder (``assignments``) and the ``course-grade`` command
(``grader``, with the kernel limits of ``sandbox``). Students never need this package: their
notebooks import only ``course_lib.check``.
"""
