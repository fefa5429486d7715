from devmgr.cli import main

main()
