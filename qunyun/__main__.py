from qunyun.cli import main

main()
