package http2

// FieldSink receives the fields of a header block in order. name and value
// are valid only during the call and must not be written to. Names are as
// received (HPACK carries lowercase names on HTTP/2; validation is the
// sink's job, not the decoder's).
type FieldSink interface {
	Field(name, value []byte, sensitive bool) error
}

// Decoder decodes the header blocks of one connection (RFC 7541 §3) against
// its dynamic table. The zero value must be Init'ed before use.
//
// Bounds: integers take at most maxIntContinuation bytes after their prefix,
// every string lies within the block, and Huffman strings decode into
// scratch buffers of at most 8/5 of the block's length, so a Decoder holds
// memory proportional to the largest block it was given plus twice its
// table's maximum size. Limiting the block (and the header list) size is the
// caller's job.
type Decoder struct {
	table   dynamicTable
	ceiling uint32 // the largest size a table size update may set

	// Scratch for the field being decoded: name holds a Huffman-decoded
	// name or a copy of an indexed one, value a Huffman-decoded value or a
	// copy of a static one. Reused from field to field.
	name, value []byte
}

// maxIntContinuation is the most bytes an integer may take after its
// prefix (RFC 7541 §5.1 sets no limit): 4 bytes carry 28 bits, more than
// any length within a block or any table size a server advertises.
const maxIntContinuation = 4

// Init (re)sets the decoder for a new connection: maxTableSize is the
// SETTINGS_HEADER_TABLE_SIZE this endpoint advertises (the ceiling for the
// peer's dynamic table size updates). Reuses memory from an earlier use.
//
// The table starts at DefaultTableSize whatever maxTableSize is, because
// the peer encodes with that size until it has acted on our SETTINGS, and
// must then start its next block with a size update (RFC 9113 §4.3.1,
// RFC 7541 §4.2).
func (d *Decoder) Init(maxTableSize uint32) {
	d.table.reset(DefaultTableSize)
	d.ceiling = maxTableSize
	d.name, d.value = d.name[:0], d.value[:0]
}

// Decode decodes one complete header block (HEADERS + CONTINUATION fragments
// already joined by the caller) and passes each field to sink. Dynamic table
// updates in the block are applied even when sink returns an error, so that
// the connection's table stays in sync: after a sink error Decode keeps
// decoding the block but stops calling sink, and returns the first sink
// error at the end. A malformed block returns ErrCompression (wrapped or as
// is; test with errors.Is) — a connection error COMPRESSION_ERROR for the
// caller — which takes precedence over a sink error, and after which the
// Decoder's table is no longer usable.
func (d *Decoder) Decode(block []byte, sink FieldSink) error {
	var sinkErr error
	sawField := false
	for p := block; len(p) > 0; {
		var (
			name, value []byte
			sensitive   bool
			err         error
		)
		switch b := p[0]; {
		case b&0x80 != 0: // §6.1 indexed
			p, name, value, err = d.readIndexed(p)
		case b&0xc0 == 0x40: // §6.2.1 literal with incremental indexing
			p, name, value, err = d.readLiteral(p, 6, true)
			if err == nil {
				d.table.add(name, value)
			}
		case b&0xf0 == 0x00: // §6.2.2 literal without indexing
			p, name, value, err = d.readLiteral(p, 4, false)
		case b&0xf0 == 0x10: // §6.2.3 literal never indexed
			p, name, value, err = d.readLiteral(p, 4, false)
			sensitive = true
		default: // 001xxxxx, §6.3 dynamic table size update
			if sawField {
				return errSizeUpdateLate
			}
			if p, err = d.readSizeUpdate(p); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		sawField = true
		if sinkErr == nil {
			sinkErr = sink.Field(name, value, sensitive)
		}
	}
	return sinkErr
}

// readIndexed reads an indexed field (RFC 7541 §6.1).
func (d *Decoder) readIndexed(p []byte) (rest, name, value []byte, err error) {
	i, p, err := readInt(p, 7)
	if err != nil {
		return nil, nil, nil, err
	}
	if i == 0 {
		return nil, nil, nil, errIndexZero
	}
	if i <= staticLen {
		f := &staticTable[i-1]
		d.name = append(d.name[:0], f.name...)
		d.value = append(d.value[:0], f.value...)
		return p, d.name, d.value, nil
	}
	if i-staticLen > uint64(d.table.len()) {
		return nil, nil, nil, errIndexRange
	}
	name, value = d.table.at(int(i - staticLen))
	return p, name, value, nil
}

// readLiteral reads a literal field whose name index has an n-bit prefix
// (RFC 7541 §6.2). With indexing set, the returned name does not alias the
// dynamic table, so the caller may add the field to it.
func (d *Decoder) readLiteral(p []byte, n uint8, indexing bool) (rest, name, value []byte, err error) {
	i, p, err := readInt(p, n)
	if err != nil {
		return nil, nil, nil, err
	}
	switch {
	case i == 0:
		name, p, err = readString(p, &d.name)
		if err != nil {
			return nil, nil, nil, err
		}
	case i <= staticLen:
		d.name = append(d.name[:0], staticTable[i-1].name...)
		name = d.name
	case i-staticLen <= uint64(d.table.len()):
		name, _ = d.table.at(int(i - staticLen))
		if indexing {
			d.name = append(d.name[:0], name...)
			name = d.name
		}
	default:
		return nil, nil, nil, errIndexRange
	}
	value, p, err = readString(p, &d.value)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, name, value, nil
}

// readSizeUpdate reads a dynamic table size update (RFC 7541 §6.3) and
// applies it.
func (d *Decoder) readSizeUpdate(p []byte) ([]byte, error) {
	size, p, err := readInt(p, 5)
	if err != nil {
		return nil, err
	}
	if size > uint64(d.ceiling) {
		return nil, errSizeUpdateTooHigh
	}
	d.table.setMax(uint32(size))
	return p, nil
}

// readInt reads an integer with an n-bit prefix (RFC 7541 §5.1), at most
// maxIntContinuation bytes after the prefix.
func readInt(p []byte, n uint8) (uint64, []byte, error) {
	if len(p) == 0 {
		return 0, nil, errTruncated
	}
	limit := uint64(1)<<n - 1
	i := uint64(p[0]) & limit
	if i < limit {
		return i, p[1:], nil
	}
	for k := 1; k < len(p); k++ {
		b := p[k]
		i += uint64(b&0x7f) << (7 * (k - 1))
		if b&0x80 == 0 {
			return i, p[k+1:], nil
		}
		if k == maxIntContinuation {
			return 0, nil, errIntegerTooLong
		}
	}
	return 0, nil, errTruncated
}

// readString reads a string literal (RFC 7541 §5.2). A Huffman-coded one is
// decoded into *scratch; a plain one is returned as a capped slice of p.
func readString(p []byte, scratch *[]byte) (s, rest []byte, err error) {
	if len(p) == 0 {
		return nil, nil, errTruncated
	}
	huff := p[0]&0x80 != 0
	n, p, err := readInt(p, 7)
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(len(p)) {
		return nil, nil, errStringPastEnd
	}
	s, rest = p[:n:n], p[n:]
	if !huff {
		return s, rest, nil
	}
	*scratch, err = huffmanDecode((*scratch)[:0], s)
	if err != nil {
		return nil, nil, err
	}
	return *scratch, rest, nil
}
