from opentoken.cli import main

main()
