# bash completion for mlist(1), the libmanifestlist command line.
# Installed as share/bash-completion/completions/mlist; works with or
# without the bash-completion package (which adds nicer file completion).

_mlist_commands='create update push inspect delete verify validate'

_mlist_global_opts='--username --password --password-stdin --docker-cfg --authfile
    --ca-cert --cache-dir --no-cache --insecure --plain-http --concurrency --retries --timeout --json
    -q --quiet --debug --version -h --help'

# Options of create, update and push.
_mlist_push_opts='--type --ignore-missing --dry-run --purge --no-normalize
    --allow-duplicates --trust-platforms --no-attestations --annotation --referrers --force'

# Options that take a value (as the next word or after '=').
_mlist_value_opts='--username --password --docker-cfg --authfile --ca-cert --cache-dir
    --concurrency --retries --timeout --list --type --annotation --add --remove
    --platforms --template --target --tags --platform'

_mlist_platforms='linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6 linux/386
    linux/ppc64le linux/s390x linux/riscv64 linux/mips64le windows/amd64
    windows/arm64'

_mlist_takes_value()
{
    local o
    for o in $_mlist_value_opts; do
        [[ $1 == "$o" ]] && return 0
    done
    return 1
}

# Files (SPEC, --list, --authfile, --ca-cert) or directories (--docker-cfg).
_mlist_files()
{
    local cur=$1 kind=$2
    if declare -F _filedir >/dev/null 2>&1; then
        if [[ $kind == dir ]]; then
            _filedir -d
        else
            _filedir
        fi
        return
    fi
    local IFS=$'\n'
    if [[ $kind == dir ]]; then
        COMPREPLY=($(compgen -d -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    compopt -o filenames 2>/dev/null
}

# Completes the value of option $1; the word being completed is $2.
_mlist_value()
{
    local opt=$1 cur=$2
    case $opt in
    --type)
        COMPREPLY=($(compgen -W 'docker oci' -- "$cur")) ;;
    --list | --authfile | --ca-cert)
        _mlist_files "$cur" file ;;
    --docker-cfg | --cache-dir)
        _mlist_files "$cur" dir ;;
    --platform | --remove)
        COMPREPLY=($(compgen -W "$_mlist_platforms" -- "$cur")) ;;
    --platforms)
        # A comma-separated list: complete the part after the last comma.
        local head='' last=$cur
        if [[ $cur == *,* ]]; then
            head=${cur%,*},
            last=${cur##*,}
        fi
        COMPREPLY=($(compgen -P "$head" -W "$_mlist_platforms" -- "$last"))
        compopt -o nospace 2>/dev/null ;;
    *)
        COMPREPLY=() ;;
    esac
}

_mlist()
{
    COMPREPLY=()
    local cword=$COMP_CWORD
    local -a words=("${COMP_WORDS[@]}")
    local cur=${words[cword]} prev=''
    ((cword > 0)) && prev=${words[cword - 1]}

    # "--opt=value": bash splits at '=' when it is in COMP_WORDBREAKS.
    if [[ $cur == = ]] && _mlist_takes_value "$prev"; then
        _mlist_value "$prev" ''
        return 0
    fi
    if [[ $prev == = ]] && ((cword > 1)) && _mlist_takes_value "${words[cword - 2]}"; then
        _mlist_value "${words[cword - 2]}" "$cur"
        return 0
    fi
    if [[ $cur == --*=* ]] && _mlist_takes_value "${cur%%=*}"; then
        local opt=${cur%%=*}
        _mlist_value "$opt" "${cur#*=}"
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=$opt=${COMPREPLY[i]}
        done
        return 0
    fi
    if _mlist_takes_value "$prev"; then
        _mlist_value "$prev" "$cur"
        return 0
    fi

    # Find the command and the positional arguments before the cursor;
    # options may stand anywhere.
    local command='' mode='' only_args='' i w npos=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -z $only_args && $w == -- ]]; then
            only_args=1
        elif [[ -z $only_args && $w == -?* ]]; then
            _mlist_takes_value "$w" && ((i++))
        elif [[ -z $only_args && $w == = ]]; then
            ((i++)) # the value of "--opt=value", split by bash
        elif [[ -z $command ]]; then
            command=$w
        else
            [[ $command == push && -z $mode ]] && mode=$w
            ((npos++))
        fi
    done

    if [[ -z $only_args && $cur == -* ]]; then
        local opts=$_mlist_global_opts
        case $command in
        create) opts+=" --list $_mlist_push_opts" ;;
        update) opts+=" --list --add --remove $_mlist_push_opts" ;;
        push)
            opts+=" $_mlist_push_opts"
            [[ $mode == from-args ]] && opts+=' --platforms --template --target --tags'
            ;;
        inspect) opts+=' --raw --platform --referrers' ;;
        delete) opts+=' --force' ;;
        validate) opts+=' --no-normalize --allow-duplicates' ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    case $command in
    '')
        COMPREPLY=($(compgen -W "$_mlist_commands" -- "$cur")) ;;
    push)
        if [[ -z $mode ]]; then
            COMPREPLY=($(compgen -W 'from-spec from-args' -- "$cur"))
        elif [[ $mode == from-spec && $npos -eq 1 ]]; then
            _mlist_files "$cur" file
        fi
        ;;
    create | validate)
        ((npos == 0)) && _mlist_files "$cur" file ;;
    update)
        # update SPEC, or update TARGET --add/--remove (a reference).
        ((npos == 0)) && _mlist_files "$cur" file ;;
    esac
    return 0
}

complete -F _mlist mlist
