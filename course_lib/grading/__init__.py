"""What an instructor runs; students never need this package (their notebooks import only
``course_lib.check``, and the student release leaves it out).

    assignments   the exercise builder: solutions/ -> exercises/ (python -m course_lib.grading.assignments)
    release       course-release: the student bundle (the library without references)
    cli           the course-grade and course-release commands
    batch         grading a folder of submissions
    submissions   finding and reading them (links not followed)
    plan          what to run for one submission (dataclass steps)
    worker        running a plan in a sandboxed kernel (dataclass events)
    gradebook     judging the outputs into rows; the MAC-protected result store
    report        grades.csv, feedback, the summary
    sandbox       the bubblewrap sandbox and the grader's side of the kernel's pipes
    kernel        the kernel itself (runs inside the sandbox)
    text          making submitted texts safe for CSV, Markdown and the terminal
"""
