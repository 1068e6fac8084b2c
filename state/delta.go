package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Delta is one entry of a state journal (see backend.Journaler): what a run changed since the
// previous entry — the records it put and the addresses it removed — or a seal, written by a run
// that takes the journal over, which changes no record. Every entry raises the serial by one.
type Delta struct {
	Serial   int64       `json:"serial"` // the state's serial once the entry is applied
	Put      []*Resource `json:"put,omitempty"`
	Remove   []string    `json:"remove,omitempty"`
	Seal     string      `json:"seal,omitempty"` // who took the journal over (a run's lock ID)
	Checksum string      `json:"checksum,omitempty"`
}

// Encode serialises d as compact JSON ending with its checksum, like State.Encode.
func (d *Delta) Encode() ([]byte, error) {
	c := *d
	c.Checksum = ""
	body, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode state delta: %w", err)
	}
	return spliceChecksum(body), nil
}

// spliceChecksum appends `,"checksum":"sha256:..."}` to a JSON object body (which ends with "}"
// and has no checksum field), so that a document is marshalled once.
func spliceChecksum(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(checksumField)+80)
	out = append(out, body[:len(body)-1]...)
	out = append(out, checksumField...)
	out = append(out, checksum(body)...)
	return append(out, "\"}\n"...)
}

// verifyChecksum checks the checksum spliced at the end of data, and returns it.
func verifyChecksum(data []byte) (string, error) {
	trimmed := bytes.TrimRight(data, " \t\r\n")
	i := bytes.LastIndex(trimmed, []byte(checksumField))
	if i < 0 || !bytes.HasSuffix(trimmed, []byte(`"}`)) {
		return "", fmt.Errorf("%w: no checksum at the end of the document", ErrCorrupt)
	}
	body := append(bytes.Clone(trimmed[:i]), '}')
	got := checksum(body)
	if string(trimmed[i+len(checksumField):len(trimmed)-2]) != got {
		return "", fmt.Errorf("%w: checksum mismatch (the document was edited or truncated)", ErrCorrupt)
	}
	return got, nil
}

// DecodeDelta parses a journal entry and verifies its checksum. Errors wrap ErrCorrupt.
func DecodeDelta(data []byte) (*Delta, error) {
	var d Delta
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: not a state journal entry: %v", ErrCorrupt, err)
	}
	sum, err := verifyChecksum(data)
	if err != nil {
		return nil, fmt.Errorf("journal entry: %w", err)
	}
	if d.Checksum != sum {
		return nil, fmt.Errorf("%w: journal entry checksum mismatch", ErrCorrupt)
	}
	for i, r := range d.Put {
		if r == nil || r.Address == "" || r.Kind == "" {
			return nil, fmt.Errorf("%w: journal entry record %d has no address or kind", ErrCorrupt, i)
		}
		if r.Status != StatusCreated && r.Status != StatusPending {
			return nil, fmt.Errorf("%w: journal entry record %s has unknown status %q", ErrCorrupt, r.Address, r.Status)
		}
		r.Spec = Normalize(r.Spec).(map[string]any)
	}
	return &d, nil
}

// Apply applies d to s: its records replace those at their addresses, its removals remove, and
// s takes its serial, which must be the next one.
func (s *State) Apply(d *Delta) error {
	if d.Serial != s.Serial+1 {
		return fmt.Errorf("%w: journal entry has serial %d, the state %d: entries are missing or out of order", ErrCorrupt, d.Serial, s.Serial)
	}
	if len(d.Remove) == 1 {
		s.Remove(d.Remove[0])
	} else if len(d.Remove) > 1 {
		gone := make(map[string]bool, len(d.Remove))
		for _, a := range d.Remove {
			gone[a] = true
		}
		s.RemoveAll(gone)
	}
	for _, r := range d.Put {
		s.Put(r)
	}
	s.Serial = d.Serial
	return nil
}

// Diff returns the delta that turns prev into s (both snapshots of one working state whose
// records are immutable: a record is changed by replacing it, so records are compared by
// identity), with serial s.Serial. Both Resources slices are sorted by address.
func (s *State) Diff(prev *State) *Delta {
	d := &Delta{Serial: s.Serial}
	i, j := 0, 0
	for i < len(prev.Resources) || j < len(s.Resources) {
		switch {
		case j == len(s.Resources) || i < len(prev.Resources) && prev.Resources[i].Address < s.Resources[j].Address:
			d.Remove = append(d.Remove, prev.Resources[i].Address)
			i++
		case i == len(prev.Resources) || s.Resources[j].Address < prev.Resources[i].Address:
			d.Put = append(d.Put, s.Resources[j])
			j++
		default:
			if prev.Resources[i] != s.Resources[j] {
				d.Put = append(d.Put, s.Resources[j])
			}
			i++
			j++
		}
	}
	return d
}
