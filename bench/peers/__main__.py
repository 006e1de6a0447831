from bench.peers import main

main()
