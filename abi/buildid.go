package abi

import (
	"encoding/binary"
	"encoding/hex"
)

// LinkText is where x86-64 kernels link _text (__START_KERNEL_map plus the
// default CONFIG_PHYSICAL_START). A trace's KASLR offset is the runtime
// _text minus LinkText.
const LinkText = 0xffffffff81000000

// NoteBuildID finds the GNU build id (NT_GNU_BUILD_ID) in ELF note data,
// such as a .note.gnu.build-id section or /sys/kernel/notes, as hex; ""
// when there is none or the notes are damaged.
func NoteBuildID(data []byte, order binary.ByteOrder) string {
	for len(data) >= 12 {
		nsz, dsz, typ := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
		data = data[12:]
		na := (uint64(nsz) + 3) &^ 3
		da := (uint64(dsz) + 3) &^ 3
		if na+da > uint64(len(data)) {
			return ""
		}
		name := data[:nsz]
		desc := data[na : na+uint64(dsz)]
		if typ == 3 && string(name) == "GNU\x00" {
			return hex.EncodeToString(desc)
		}
		data = data[na+da:]
	}
	return ""
}
