package abi

import "testing"

// followSeed is a small follow-mode area: three chunks of 64 words, the
// root's two, a child's one between them.
func followSeed() []uint64 {
	const c = 64
	area := make([]uint64, 1+3*c)
	chunk := func(k int, flags ChunkFlag, ord uint32, tid, ptid int, recs ...Record) {
		w := area[1+k*c : 1+(k+1)*c]
		comm := PackComm("sh")
		w[ChunkTid], w[ChunkTgid], w[ChunkPtid], w[ChunkComm], w[ChunkComm+1] = uint64(tid), uint64(tid), uint64(ptid), comm[0], comm[1]
		data := w[ChunkUsed : ChunkUsed+1]
		for i := range recs {
			data = EncodeV1(data, &recs[i])
		}
		w[ChunkUsed] = uint64(len(data) - 1)
		w[ChunkTag] = ChunkTagWord(flags, c, ord)
		area[0] += c
	}
	rec := func(k Kind, seq uint32, n int) Record {
		return Record{Kind: k, Seq: seq, PC: tpc, ArgIdx: uint8(n / 2), Size: 8, Ptr: 0xffff888000001000, Values: make([]uint64, n)}
	}
	chunk(0, ChunkFirst|ChunkRoot, 0, 10, 1, rec(KindEntry, 1, 1), rec(KindEntry, 2, 3))
	chunk(1, ChunkFirst|ChunkExited, 0, 11, 10, rec(KindEntry, 1, 1), rec(KindReturn, 2, 1))
	chunk(2, ChunkExec, 1, 10, 1, rec(KindReturn, 3, 1))
	return area
}

// followSeedTable gives the seed's record lengths: argument 1 has three
// fields.
func followSeedTable() *Table {
	table := NewTable(4)
	table.Set(tpc, KindEntry, 0, 4)
	table.Set(tpc, KindEntry, 1, 6)
	table.Set(tpc, KindReturn, 0, 4)
	return table
}

// FuzzDecodeFollow feeds arbitrary areas to the follow-mode decoder and
// the live snapshot: no panic, every record inside its own chunk's
// counted words, chunk counts consistent.
func FuzzDecodeFollow(f *testing.F) {
	seed := followSeed()
	f.Add(bytesOf(seed))
	f.Add(bytesOf(seed[:70]))
	f.Add(bytesOf(make([]uint64, 200)))
	f.Add([]byte{})
	table := followSeedTable()
	f.Fuzz(func(t *testing.T, b []byte) {
		area := wordsOf(b)
		SnapshotFollow(area, FollowMinChunk)
		for _, decode := range []func() (*FollowTrace, error){
			func() (*FollowTrace, error) { return DecodeFollow(area, Options{}) },
			func() (*FollowTrace, error) { return DecodeFollowChunks(area, FollowMinChunk, Options{Table: table}) },
		} {
			ft, err := decode()
			if err != nil {
				continue
			}
			c := ft.ChunkWords
			if ft.Carved > ft.Slots || 1+ft.Slots*c > len(area) {
				t.Fatalf("%d of %d chunks of %d words in %d words", ft.Carved, ft.Slots, c, len(area))
			}
			chunks := 0
			for _, ts := range ft.Tasks {
				chunks += len(ts.Chunks)
				for _, r := range ts.Records {
					k := (r.Offset - 1) / c
					start := 1 + k*c + ChunkHeaderWords
					if r.Offset < start || r.Offset+r.Words() > 1+(k+1)*c {
						t.Fatalf("task %d: record at %d (%d words) outside the data of chunk %d", ts.Tid, r.Offset, r.Words(), k)
					}
				}
			}
			if chunks != ft.Carved {
				t.Fatalf("%d chunks in streams, %d carved", chunks, ft.Carved)
			}
		}
	})
}

func TestFollowSeedDecodes(t *testing.T) {
	ft, err := DecodeFollow(followSeed(), Options{Table: followSeedTable()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ft.Anomalies) > 0 || len(ft.Tasks) != 2 || len(ft.Task(10).Records) != 3 || !ft.Task(11).Exited || ft.Task(10).Comm != "sh" {
		t.Fatalf("%+v", ft)
	}
}
