"""Run by every interpreter the mutation session starts (this folder is on its ``PYTHONPATH``)."""

import mutants_children

mutants_children.in_new_interpreter()
