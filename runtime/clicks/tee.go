package clicks

import "errors"

// Tee returns a Sink that hands every batch to each of sinks in turn (for
// `--clicks DIR` and `--clicks-url URL` together). WriteBatch and Close
// call every sink even when one fails, and return the errors joined.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) WriteBatch(c []Click) error {
	var errs []error
	for _, s := range t {
		if err := s.WriteBatch(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t tee) Close() error {
	var errs []error
	for _, s := range t {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
