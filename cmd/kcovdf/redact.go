package main

import (
	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/redact"
	"github.com/spf13/cobra"
)

// redactFlags are --redact and --redact-key, on the commands whose output
// may be shared.
type redactFlags struct {
	on  bool
	key string
}

func (f *redactFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.on, "redact", false, "replace kernel addresses with tokens (kptr_…, the same for the same address within a trace) to share the output without revealing the kernel's layout")
	cmd.Flags().StringVar(&f.key, "redact-key", "", "a `FILE` keeping the secret the tokens are derived from, created when missing, so that several runs give the same tokens (implies --redact; without it each run draws its own)")
}

// secret is the secret to redact with; nil without --redact.
func (f *redactFlags) secret() (*redact.Secret, error) {
	switch {
	case f.key != "":
		s, err := redact.LoadSecret(f.key)
		return &s, err
	case f.on:
		s, err := redact.NewSecret()
		return &s, err
	}
	return nil, nil
}

// redactor is the redactor of an opened trace, its key derived from the
// trace's task ID as export derives it; nil without a secret. Its text
// filter blanks the trace's KASLR offset out.
func redactor(s *redact.Secret, tr *abi.Trace) *redact.Trace {
	if s == nil {
		return nil
	}
	rt := s.Trace(export.TaskID(tr))
	if !tr.Raw {
		rt.Meta(&tr.Meta)
	}
	return rt
}

// redactOutput passes a command's standard output and error through rt's
// text filter: addresses printed outside rendered values (kcov PCs, a
// flow's raw words, the KASLR offset in a note) become tokens too. done
// writes out what is held back.
func redactOutput(cmd *cobra.Command, rt *redact.Trace) (done func()) {
	if rt == nil {
		return func() {}
	}
	out, ew := rt.Writer(cmd.OutOrStdout()), rt.Writer(cmd.ErrOrStderr())
	cmd.SetOut(out)
	cmd.SetErr(ew)
	return func() {
		out.Close()
		ew.Close()
	}
}
