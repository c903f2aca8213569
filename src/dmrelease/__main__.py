from dmrelease.cli import main

raise SystemExit(main())
