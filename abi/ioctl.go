package abi

// The _IOC encoding of <asm-generic/ioctl.h>, which x86-64 uses:
// nr in bits 0–7, type in 8–15, size in 16–29, direction in 30–31.
const (
	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30

	iocNone  = 0
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, typ, nr, size uint32) uint32 {
	return dir<<iocDirShift | typ<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

func ionone(typ, nr uint32) uint32    { return ioc(iocNone, typ, nr, 0) }
func ior(typ, nr, size uint32) uint32 { return ioc(iocRead, typ, nr, size) }
func iow(typ, nr, size uint32) uint32 { return ioc(iocWrite, typ, nr, size) }

// The ioctl namespace of kcov dataflow.
const ioctlType = 'd'

// Ioctl numbers (docs/device.md): v1 plus our drop counter, and v3's additions,
// which kcovdf knows by name so that it can explain them.
var (
	// IoctlInitTrace allocates the buffer: argument is its size in words.
	// v3 renamed it KCOV_DF_INIT_TRACK, with the same number.
	IoctlInitTrace = ior(ioctlType, 1, 8)
	// IoctlGetDropped (kcovdf extension) copies out how many records the
	// traced task dropped since ENABLE because the buffer was full.
	IoctlGetDropped = ior(ioctlType, 2, 8)
	// IoctlEnable binds the calling task to the buffer.
	IoctlEnable = ionone(ioctlType, 100)
	// IoctlDisable unbinds it; only the traced task may call it.
	IoctlDisable = ionone(ioctlType, 101)
	// IoctlRemoteEnable and IoctlRemoteDisable exist in v3 only.
	IoctlRemoteEnable  = iow(ioctlType, 102, 8)
	IoctlRemoteDisable = ionone(ioctlType, 103)
)

// Buffer size bounds of INIT_TRACE, in u64 words.
const (
	MinWords = 2
	MaxWords = (128 << 20) / 8
)

// IoctlName names an ioctl number of the kcov dataflow namespace.
func IoctlName(cmd uint32) string {
	switch cmd {
	case IoctlInitTrace:
		return "KCOV_DF_INIT_TRACE"
	case IoctlGetDropped:
		return "KCOV_DF_GET_DROPPED"
	case IoctlEnable:
		return "KCOV_DF_ENABLE"
	case IoctlDisable:
		return "KCOV_DF_DISABLE"
	case IoctlEnableFollow:
		return "KCOV_DF_ENABLE_FOLLOW"
	case IoctlRemoteEnable:
		return "KCOV_DF_REMOTE_ENABLE"
	case IoctlRemoteDisable:
		return "KCOV_DF_REMOTE_DISABLE"
	}
	return ""
}
