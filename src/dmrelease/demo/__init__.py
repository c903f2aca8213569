"""The demo and synthetic products: example repositories, and the stages run on them.

A layer above ``stages`` (core < adapters < stages < demo < commands): ``rebuild`` is the
embedded demo product and its rebuilds, ``release`` the release flow run on it (issue 5 §6),
``tour`` what the demo prints (sections, glossary, summary table, next steps; issue 11),
``servers`` the source and binary servers the releases publish to and a fresh stack
installed from the binaries, ``library`` a library product and a product using it
(issue 12), ``image`` the final's distribution image (built when the machine can, else
what was skipped and why; issue 13),
``synthetic`` the products written by ``git fast-import`` for tests and benchmarks.
"""
