package static

// mediaType is a Content-Type value and whether the content compresses
// well (so that precompressed sidecars are looked for, and --gzip applies).
type mediaType struct {
	value        string
	compressible bool
}

// defaultType is sent for a name with no known extension, as nginx's
// default_type: the browser downloads it rather than guessing.
var defaultType = mediaType{"application/octet-stream", false}

// mediaTypes maps a lower-case extension, without its dot, to its type.
// It is built in rather than read from /etc/mime.types (as Go's mime
// package does) so that a file's type does not depend on the host. Text
// types carry charset=utf-8 (RFC 9110 §8.3.2; the web's text is UTF-8);
// JavaScript is text/javascript (RFC 9239). Read-only after New.
func mediaTypes() map[string]mediaType {
	const utf8 = "; charset=utf-8"
	text := func(v string) mediaType { return mediaType{v + utf8, true} }
	zip := func(v string) mediaType { return mediaType{v, true} }
	raw := func(v string) mediaType { return mediaType{v, false} }
	return map[string]mediaType{
		// Text and the web platform.
		"html": text("text/html"), "htm": text("text/html"), "shtml": text("text/html"),
		"css": text("text/css"), "js": text("text/javascript"), "mjs": text("text/javascript"),
		"cjs": text("text/javascript"), "txt": text("text/plain"), "text": text("text/plain"),
		"md": text("text/markdown"), "markdown": text("text/markdown"), "csv": text("text/csv"),
		"tsv": text("text/tab-separated-values"), "ics": text("text/calendar"), "vtt": text("text/vtt"),
		"xml": zip("application/xml"), "xsl": zip("application/xml"), "xhtml": zip("application/xhtml+xml"),
		"json": zip("application/json"), "map": zip("application/json"), "jsonld": zip("application/ld+json"),
		"webmanifest": zip("application/manifest+json"), "geojson": zip("application/geo+json"),
		"rss": zip("application/rss+xml"), "atom": zip("application/atom+xml"),
		"yaml": zip("application/yaml"), "yml": zip("application/yaml"), "toml": zip("application/toml"),
		"wasm": zip("application/wasm"), "mpd": zip("application/dash+xml"),
		"m3u8": zip("application/vnd.apple.mpegurl"), "kml": zip("application/vnd.google-earth.kml+xml"),
		"gltf": zip("model/gltf+json"), "glb": raw("model/gltf-binary"),
		// Images.
		"png": raw("image/png"), "apng": raw("image/apng"), "jpg": raw("image/jpeg"),
		"jpeg": raw("image/jpeg"), "jpe": raw("image/jpeg"), "gif": raw("image/gif"),
		"webp": raw("image/webp"), "avif": raw("image/avif"), "jxl": raw("image/jxl"),
		"heic": raw("image/heic"), "heif": raw("image/heif"), "svg": zip("image/svg+xml"),
		"ico": zip("image/x-icon"), "cur": zip("image/x-icon"), "bmp": zip("image/bmp"),
		"tif": raw("image/tiff"), "tiff": raw("image/tiff"),
		// Fonts.
		"woff": raw("font/woff"), "woff2": raw("font/woff2"), "ttf": zip("font/ttf"),
		"otf": zip("font/otf"), "eot": zip("application/vnd.ms-fontobject"),
		// Audio and video.
		"mp3": raw("audio/mpeg"), "ogg": raw("audio/ogg"), "oga": raw("audio/ogg"),
		"opus": raw("audio/ogg"), "wav": raw("audio/wav"), "flac": raw("audio/flac"),
		"m4a": raw("audio/mp4"), "aac": raw("audio/aac"), "weba": raw("audio/webm"),
		"mid": raw("audio/midi"), "midi": raw("audio/midi"),
		"mp4": raw("video/mp4"), "m4v": raw("video/mp4"), "webm": raw("video/webm"),
		"ogv": raw("video/ogg"), "mov": raw("video/quicktime"), "avi": raw("video/x-msvideo"),
		"mkv": raw("video/x-matroska"), "ts": raw("video/mp2t"), "3gp": raw("video/3gpp"),
		// Documents and archives.
		"pdf": raw("application/pdf"), "rtf": zip("application/rtf"), "epub": raw("application/epub+zip"),
		"doc": raw("application/msword"), "xls": raw("application/vnd.ms-excel"),
		"ppt":  raw("application/vnd.ms-powerpoint"),
		"docx": raw("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
		"xlsx": raw("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
		"pptx": raw("application/vnd.openxmlformats-officedocument.presentationml.presentation"),
		"odt":  raw("application/vnd.oasis.opendocument.text"),
		"ods":  raw("application/vnd.oasis.opendocument.spreadsheet"),
		"odp":  raw("application/vnd.oasis.opendocument.presentation"),
		"zip":  raw("application/zip"), "gz": raw("application/gzip"), "tgz": raw("application/gzip"),
		"tar": zip("application/x-tar"), "bz2": raw("application/x-bzip2"), "xz": raw("application/x-xz"),
		"zst": raw("application/zstd"), "7z": raw("application/x-7z-compressed"),
		"rar": raw("application/vnd.rar"), "jar": raw("application/java-archive"),
		"apk": raw("application/vnd.android.package-archive"),
		"deb": raw("application/vnd.debian.binary-package"), "rpm": raw("application/x-rpm"),
		"dmg": raw("application/x-apple-diskimage"), "iso": raw("application/x-iso9660-image"),
		"pem": raw("application/x-pem-file"),
	}
}

// typeOf returns the media type for a file name, by its extension
// (ASCII case ignored).
func typeOf(types map[string]mediaType, name string) mediaType {
	dot := -1
	for i := len(name) - 1; i >= 0 && name[i] != '/'; i-- {
		if name[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 || dot == len(name)-1 {
		return defaultType
	}
	ext := name[dot+1:]
	var lower [16]byte
	if len(ext) > len(lower) {
		return defaultType
	}
	for i := 0; i < len(ext); i++ {
		c := ext[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if t, ok := types[string(lower[:len(ext)])]; ok {
		return t
	}
	return defaultType
}
