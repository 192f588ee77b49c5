package importer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// rawLine is one line of input, numbered from 1.
type rawLine struct {
	n       int
	data    []byte
	tooLong bool
	err     error // a read error; the line is not valid then
}

// readLines sends every line of in to out, then closes it. A line longer
// than MaxLineBytes is sent without its data, marked tooLong. It stops at
// the end of in, at a read error (sent as the last rawLine), or when done
// is closed.
func readLines(in io.Reader, out chan<- rawLine, done <-chan struct{}) {
	defer close(out)
	r := bufio.NewReaderSize(in, MaxLineBytes+1)
	for n := 1; ; n++ {
		l := rawLine{n: n}
		data, err := r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			l.tooLong = true
			_, err = r.ReadSlice('\n')
		}
		if !l.tooLong {
			l.data = bytes.Clone(bytes.TrimRight(data, "\r\n"))
		}
		if err != nil && err != io.EOF {
			l.err, l.data = err, nil
		}
		last := err != nil
		if last && !l.tooLong && l.err == nil && len(bytes.TrimSpace(l.data)) == 0 {
			return // the end of the input after its last newline
		}
		select {
		case out <- l:
		case <-done:
			return
		}
		if last {
			return
		}
	}
}
