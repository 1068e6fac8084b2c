package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// The two file formats of the file store: the snapshot (the whole cloud) and the lines of the
// log (what one update changed). See fileStore for how they fit together.

// fileVersion is the format version of the snapshot. Version 1 files written before the log
// existed have no seq, which reads as 0: they load as a snapshot with an empty log.
const fileVersion = 1

// fileDoc is a snapshot: the cloud as the log entries up to and including Seq left it.
type fileDoc struct {
	Version   int          `json:"version"`
	Seq       uint64       `json:"seq"`
	Resources []fileRecord `json:"resources"`
}

type fileRecord struct {
	Record
	Spec specJSON `json:"spec"` // shadows Record.Spec: keeps int64 and float64 apart
}

func toFile(r *Record) fileRecord { return fileRecord{Record: *r, Spec: specJSON(r.Spec)} }

// record returns the Record fr holds, or an error if it lacks its kind, name or ID.
func (fr *fileRecord) record() (*Record, error) {
	r := fr.Record
	r.Spec = map[string]any(fr.Spec)
	if r.Kind == "" || r.Name == "" || r.ID == "" {
		return nil, errors.New("kind, name and id are required")
	}
	return &r, nil
}

// encodeSnapshot returns the snapshot of c at seq: JSON with one resource a line, sorted by ID.
func encodeSnapshot(c *cloud, seq uint64) ([]byte, error) {
	b := fmt.Appendf(nil, `{"version":%d,"seq":%d,"resources":[`, fileVersion, seq)
	for i, r := range c.records() {
		if i > 0 {
			b = append(b, ',')
		}
		rec, err := json.Marshal(toFile(r))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
		}
		b = append(append(b, '\n'), rec...)
	}
	return append(b, "\n]}\n"...), nil
}

// decodeSnapshot returns the cloud in a snapshot and its seq.
func decodeSnapshot(data []byte) (*cloud, uint64, error) {
	var doc fileDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, 0, err
	}
	if doc.Version != fileVersion {
		return nil, 0, fmt.Errorf("version %d, want %d", doc.Version, fileVersion)
	}
	c := newCloud()
	for i := range doc.Resources {
		r, err := doc.Resources[i].record()
		if err == nil {
			err = c.add(r)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("resource %d: %w", i, err)
		}
	}
	return c, doc.Seq, nil
}

// logEntry is one line of the log: the records one update created or changed (Put, whole) and
// the ones it deleted (Del). Seq is one more than the entry before it, or than the snapshot's.
type logEntry struct {
	Seq uint64       `json:"seq"`
	Put []fileRecord `json:"put,omitempty"`
	Del []logKey     `json:"del,omitempty"`
}

type logKey struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeEntry returns the log line of the entry numbered seq that puts put and deletes del:
// {"crc":C,"entry":E} and a newline, where C is the CRC-32C of E's bytes.
func encodeEntry(seq uint64, put []*Record, del []key) ([]byte, error) {
	e := logEntry{Seq: seq}
	for _, r := range put {
		e.Put = append(e.Put, toFile(r))
	}
	for _, k := range del {
		e.Del = append(e.Del, logKey{Kind: k.kind, ID: k.s})
	}
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	line := fmt.Appendf(nil, `{"crc":%d,"entry":`, crc32.Checksum(body, castagnoli))
	return append(append(line, body...), "}\n"...), nil
}

// errTorn reports a log line that is not the whole of one written by encodeEntry: the tail of
// a write that a crash interrupted.
var errTorn = errors.New("torn line")

// decodeEntry decodes one log line, without its newline. A line that is not a checksummed
// envelope is errTorn; an entry that passes its checksum but does not decode is corrupt.
func decodeEntry(line []byte) (*logEntry, error) {
	var env struct {
		CRC   *uint32         `json:"crc"`
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(line, &env); err != nil || env.CRC == nil || len(env.Entry) == 0 ||
		crc32.Checksum(env.Entry, castagnoli) != *env.CRC {
		return nil, errTorn
	}
	var e logEntry
	if err := json.Unmarshal(env.Entry, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// apply makes the change e records: deletions first, then puts.
func (c *cloud) apply(e *logEntry) error {
	for _, k := range e.Del {
		r, ok := c.byID[key{k.Kind, k.ID}]
		if !ok {
			return fmt.Errorf("entry %d deletes %s %s, which does not exist", e.Seq, k.Kind, k.ID)
		}
		c.remove(r)
	}
	for i := range e.Put {
		r, err := e.Put[i].record()
		if err == nil {
			err = c.put(r)
		}
		if err != nil {
			return fmt.Errorf("entry %d, resource %d: %w", e.Seq, i, err)
		}
	}
	return nil
}
