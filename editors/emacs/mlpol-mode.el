;;; mlpol-mode.el --- Major mode for mlpol policies -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: languages
;; License: Apache-2.0

;;; Commentary:

;; Font-lock, comments and indentation for `.mlpol' files, and an eglot
;; entry that runs `mlpol lsp' (diagnostics, hover, completion, go to
;; definition, references, formatting, quick fixes).
;;
;;   (add-to-list 'load-path "/path/to/mlpol/editors/emacs")
;;   (require 'mlpol-mode)
;;   (add-hook 'mlpol-mode-hook #'eglot-ensure)   ; Emacs 29+, or eglot from ELPA

;;; Code:

(defgroup mlpol nil
  "Major mode for mlpol policies."
  :group 'languages
  :prefix "mlpol-")

(defcustom mlpol-indent-offset 2
  "Indentation of a block's contents, in columns."
  :type 'integer
  :safe #'integerp)

(defcustom mlpol-server-command '("mlpol" "lsp")
  "The language server command, for eglot."
  :type '(repeat string))

(defconst mlpol--keywords
  '("module" "import" "as" "param" "let" "fn" "check" "require" "else" "at"
    "skip" "when" "because" "for" "in" "if" "then" "all" "any" "count"
    "filter" "map" "not" "and" "or" "matches"))

(defconst mlpol--builtins
  '("len" "is_empty" "lower" "upper" "trim" "starts_with" "ends_with" "contains"
    "split" "join" "replace" "keys" "values" "int" "float" "string" "bool"
    "days" "duration" "size" "sum" "min" "max" "unique" "sorted" "flatten"
    "type_of" "find" "find_all" "entropy" "bits"))

(defconst mlpol--meta-keys
  '("title" "section" "severity" "tags" "remediation" "references" "validation"
    "attestation"))

(defconst mlpol--ident "[A-Za-z_][A-Za-z0-9_]*")
(defconst mlpol--path (concat mlpol--ident "\\(?:\\." mlpol--ident "\\)*"))

(defvar mlpol-font-lock-keywords
  `(("^\\s-*\\(///.*\\)$" 1 font-lock-doc-face t)
    (,(concat "\\_<check\\_>\\s-+\\(" mlpol--path "\\)") 1 font-lock-type-face)
    (,(concat "\\_<\\(?:module\\|import\\)\\_>\\s-+\\(" mlpol--path "\\)") 1 font-lock-constant-face)
    (,(concat "\\_<fn\\_>\\s-+\\(" mlpol--ident "\\)") 1 font-lock-function-name-face)
    (,(concat "\\_<\\(?:let\\|param\\)\\_>\\s-+\\(" mlpol--ident "\\)") 1 font-lock-variable-name-face)
    (,(concat "^\\s-*\\(" (regexp-opt mlpol--meta-keys) "\\)\\s-*=[^=]") 1 font-lock-builtin-face)
    ("\\_<severity\\s-*=\\s-*\\(critical\\|high\\|medium\\|low\\)\\_>" 1 font-lock-constant-face)
    (,(regexp-opt mlpol--keywords 'symbols) . font-lock-keyword-face)
    ("\\_<\\(true\\|false\\|null\\)\\_>" . font-lock-constant-face)
    ("\\_<\\(files\\|doc\\|secrets\\|git\\)\\." 1 font-lock-type-face)
    (,(concat "\\_<\\(" (regexp-opt mlpol--builtins) "\\)\\s-*(") 1 font-lock-builtin-face)
    (,(concat "\\_<\\(" mlpol--ident "\\)\\s-*(") 1 font-lock-function-name-face)
    ("\\_<[0-9][0-9_]*\\(?:\\.[0-9][0-9_]*\\)?\\(?:ms\\|s\\|m\\|h\\|d\\|w\\|B\\|KB\\|MB\\|GB\\|TB\\|KiB\\|MiB\\|GiB\\|TiB\\)?\\_>"
     . font-lock-constant-face))
  "Highlighting for `mlpol-mode'.")

(defvar mlpol-mode-syntax-table
  (let ((table (make-syntax-table)))
    ;; `//' comments to the end of the line.
    (modify-syntax-entry ?/ ". 12" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?. "." table)
    (modify-syntax-entry ?{ "(}" table)
    (modify-syntax-entry ?} "){" table)
    (modify-syntax-entry ?\[ "(]" table)
    (modify-syntax-entry ?\] ")[" table)
    (modify-syntax-entry ?\( "()" table)
    (modify-syntax-entry ?\) ")(" table)
    table)
  "Syntax table for `mlpol-mode'.")

(defun mlpol-indent-line ()
  "Indent the current line by the brackets open before it.
A line that closes a bracket goes back one level; a line continuing an
`else', `at' or operator gets one more level."
  (interactive)
  (let* ((depth (save-excursion (car (syntax-ppss (line-beginning-position)))))
         (closing (save-excursion
                    (back-to-indentation)
                    (looking-at-p "[]})]")))
         (continuation (save-excursion
                         (back-to-indentation)
                         (looking-at-p "\\(else\\|at\\|and\\|or\\|==\\|!=\\|\\?\\?\\|\\.\\)\\_>?")))
         (level (max 0 (- depth (if closing 1 0))))
         (column (+ (* level mlpol-indent-offset) (if continuation mlpol-indent-offset 0)))
         (offset (- (current-column) (current-indentation))))
    (indent-line-to column)
    (when (> offset 0)
      (forward-char offset))))

;;;###autoload
(define-derived-mode mlpol-mode prog-mode "mlpol"
  "Major mode for mlpol policy files."
  :syntax-table mlpol-mode-syntax-table
  (setq-local comment-start "// ")
  (setq-local comment-start-skip "//+\\s-*")
  (setq-local comment-end "")
  (setq-local indent-line-function #'mlpol-indent-line)
  (setq-local indent-tabs-mode nil)
  (setq-local font-lock-defaults '(mlpol-font-lock-keywords)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.mlpol\\'" . mlpol-mode))

(with-eval-after-load 'eglot
  (defvar eglot-server-programs)
  (add-to-list 'eglot-server-programs `(mlpol-mode . ,mlpol-server-command)))

(provide 'mlpol-mode)
;;; mlpol-mode.el ends here
