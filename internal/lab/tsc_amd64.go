package lab

const haveTSC = true

// readTSC executes RDTSC.
func readTSC() uint64
