from ghcapture.cli import main

main()
