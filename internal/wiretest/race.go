//go:build race

package wiretest

// RaceDetector says whether the tests run under the race detector.
const RaceDetector = true
