" Vim syntax for mlpol policies (semantic tokens from `mlpol lsp` refine it
" on Neovim 0.9 and later).
if exists("b:current_syntax")
  finish
endif

syn keyword mlpolItem module import as param let fn check
syn keyword mlpolStatement require else at skip when because for in if then
syn keyword mlpolOperator all any count filter map not and or matches
syn keyword mlpolConstant true false null
syn keyword mlpolSeverity critical high medium low contained
syn match mlpolSeverityLine "\<severity\s*=\s*\w\+" contains=mlpolMeta,mlpolSeverity
syn match mlpolMeta "^\s*\zs\(title\|section\|severity\|tags\|remediation\|references\|validation\|attestation\)\ze\s*=" contained
syn match mlpolMetaLine "^\s*\(title\|section\|tags\|remediation\|references\|validation\|attestation\)\s*=" contains=mlpolMeta
syn match mlpolNumber "\<\d[0-9_]*\(\.\d[0-9_]*\)\?\(ms\|s\|m\|h\|d\|w\|B\|KB\|MB\|GB\|TB\|KiB\|MiB\|GiB\|TiB\)\?\>"
syn match mlpolNumber "\<0[ox][0-9a-fA-F]\+\>"
syn region mlpolRegex start=+re"+ skip=+\\.+ end=+"+ oneline
syn region mlpolString start=+"+ skip=+\\.+ end=+"+ oneline contains=mlpolInterp
syn region mlpolInterp matchgroup=mlpolInterpDelim start=+{+ end=+}+ contained contains=mlpolString,mlpolNumber,mlpolConstant
syn match mlpolDoc "///.*$"
syn match mlpolComment "//\([^/].*\)\?$"
syn match mlpolNamespace "\<\(files\|doc\|secrets\|git\)\ze\."
syn match mlpolFunction "\<\h\w*\ze("

hi def link mlpolItem Keyword
hi def link mlpolStatement Statement
hi def link mlpolOperator Operator
hi def link mlpolConstant Constant
hi def link mlpolSeverity Constant
hi def link mlpolMeta Identifier
hi def link mlpolNumber Number
hi def link mlpolRegex String
hi def link mlpolString String
hi def link mlpolInterpDelim Special
hi def link mlpolDoc SpecialComment
hi def link mlpolComment Comment
hi def link mlpolNamespace Type
hi def link mlpolFunction Function

let b:current_syntax = "mlpol"
