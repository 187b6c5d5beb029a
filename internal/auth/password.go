package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password limits: bcrypt reads at most 72 bytes, and a longer password
// would be silently cut, so it is refused instead.
const (
	MinPasswordLength = 8
	MaxPasswordBytes  = 72
)

// bcryptCost is bcrypt's work factor: about 50 ms per check on a server
// core, which makes guessing slow and a login still quick.
const bcryptCost = 10

// CheckPasswordRules returns why pw cannot be a password, or nil.
func CheckPasswordRules(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		return fmt.Errorf("the password is shorter than %d characters", MinPasswordLength)
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("the password is longer than %d bytes", MaxPasswordBytes)
	}
	return nil
}

// HashPassword returns pw's bcrypt hash, after checking the rules.
func HashPassword(pw string) (string, error) {
	if err := CheckPasswordRules(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// checkPassword reports whether pw matches hash.
func checkPassword(hash, pw string) bool {
	if len(pw) > MaxPasswordBytes {
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	return err == nil
}

// dummyHash is compared against when the user does not exist, so that a
// login takes as long for an unknown name as for a wrong password and
// does not tell which names exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("no such user, no such password"), bcryptCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// RandomSecret returns n random bytes, base64url-encoded without padding.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; if it did, no secret is
		// better than a weak one.
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
