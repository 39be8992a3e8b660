package recordio_test

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

func ExampleReader() {
	stream := strings.NewReader(`20
{"type":"HEARTBEAT"}6
héllo`)
	r := recordio.NewReader(stream, 0)
	for {
		rec, err := r.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d bytes: %s\n", len(rec), rec)
	}
	// Output:
	// 20 bytes: {"type":"HEARTBEAT"}
	// 6 bytes: héllo
}

func ExampleWriter() {
	w := recordio.NewWriter(os.Stdout)
	if err := w.WriteRecord([]byte(`{"type":"HEARTBEAT"}`)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 20
	// {"type":"HEARTBEAT"}
}

func ExampleAppendRecord() {
	var batch []byte
	for _, ev := range []string{`{"type":"HEARTBEAT"}`, `{}`} {
		batch = recordio.AppendRecord(batch, []byte(ev))
	}
	fmt.Printf("%q\n", batch)
	// Output:
	// "20\n{\"type\":\"HEARTBEAT\"}2\n{}"
}
